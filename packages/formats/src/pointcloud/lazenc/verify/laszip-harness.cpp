// Verification harness, not part of the build: see ../README.md ("Cross-check against LASzip").
// Decodes a LAZ file with the real LASzip library to raw point records, or encodes raw records with it.
#include "laszip.hpp"
#include "lasreadpoint.hpp"
#include "laswritepoint.hpp"
#include "bytestreamin_file.hpp"
#include "bytestreamout_file.hpp"
#include <cstdio>
#include <cstring>
#include <cstdlib>
#include <vector>
#include <string>
static std::vector<unsigned char> slurp(const char* f){ FILE* fp=fopen(f,"rb"); std::vector<unsigned char> b; if(!fp) return b; fseek(fp,0,SEEK_END); long n=ftell(fp); fseek(fp,0,SEEK_SET); b.resize(n); fread(b.data(),1,n,fp); fclose(fp); return b; }
template<class T> T rd(const unsigned char* p){ T v; memcpy(&v,p,sizeof v); return v; }
// LASzip's compressed POINT14 items work on its in-memory LASpoint14 (48 bytes), not the raw record
static void raw_to_p14(const unsigned char* r, unsigned char* p){ memset(p,0,48); memcpy(p,r,14); unsigned rn=r[14]&15, nr=r[14]>>4, f=r[15];
  p[14]=(rn>7?7:rn)|((nr>7?7:nr)<<3)|(((f>>6)&1)<<6)|(((f>>7)&1)<<7); p[15]=r[16]&31; p[16]=0; p[17]=r[17]; memcpy(p+18,r+20,2); memcpy(p+20,r+18,2);
  p[22]=(((f>>4)&3)<<2)|((f&15)<<4); p[23]=r[16]; p[24]=r[14]; memcpy(p+32,r+22,8); }
static void p14_to_raw(const unsigned char* p, unsigned char* r){ memcpy(r,p,14); r[14]=p[24]; r[15]=(p[22]>>4)|(((p[22]>>2)&3)<<4)|(((p[14]>>6)&1)<<6)|(((p[14]>>7)&1)<<7); r[16]=p[23]; r[17]=p[17]; memcpy(r+18,p+20,2); memcpy(r+20,p+18,2); memcpy(r+22,p+32,8); }
int main(int argc, char** argv){
  if (argc>=4 && !strcmp(argv[1],"decode")) {
    auto b = slurp(argv[2]);
    unsigned hs=rd<unsigned short>(&b[94]); unsigned off=rd<unsigned>(&b[96]); unsigned nv=rd<unsigned>(&b[100]);
    unsigned rl=rd<unsigned short>(&b[105]); unsigned long long n=rd<unsigned>(&b[107]);
    if (b[25]>=4) { unsigned long long n64=rd<unsigned long long>(&b[247]); if (n64) n=n64; }
    size_t p=hs; LASzip lz; bool found=false;
    for (unsigned i=0;i<nv;i++){ unsigned rid=rd<unsigned short>(&b[p+18]); unsigned len=rd<unsigned short>(&b[p+20]); if(rid==22204){ if(!lz.unpack(&b[p+54],len)){fprintf(stderr,"unpack: %s\n",lz.get_error());return 2;} found=true;} p+=54+len; }
    if(!found){fprintf(stderr,"no laszip vlr\n");return 2;}
    FILE* fp=fopen(argv[2],"rb"); fseek(fp,off,SEEK_SET);
    ByteStreamInFileLE* in=new ByteStreamInFileLE(fp);
    LASreadPoint r; if(!r.setup(lz.num_items,lz.items,&lz)){fprintf(stderr,"setup\n");return 3;}
    if(!r.init(in)){fprintf(stderr,"init\n");return 3;}
    std::vector<unsigned char> rec(rl); std::vector<unsigned char*> ptrs(lz.num_items); size_t o=0;
    unsigned char p14[48]; bool is14 = lz.items[0].type==LASitem::POINT14;
    for(unsigned i=0;i<lz.num_items;i++){ptrs[i]=rec.data()+o;o+=lz.items[i].size;}
    if(is14) ptrs[0]=p14;
    FILE* out=fopen(argv[3],"wb");
    for(unsigned long long i=0;i<n;i++){ if(!r.read(ptrs.data())){fprintf(stderr,"read failed at %llu\n",i);return 4;} if(is14) p14_to_raw(p14,rec.data()); fwrite(rec.data(),1,rl,out);}
    r.done(); fclose(out); printf("decoded %llu points\n",n); return 0;
  }
  if (argc>=7 && !strcmp(argv[1],"encode")) { // encode raw pf rl chunk out [variable chunk sizes comma list]
    auto raw = slurp(argv[2]); int pf=atoi(argv[3]); int rl=atoi(argv[4]); unsigned cs=strtoul(argv[5],0,10);
    LASzip lz; if(!lz.setup((unsigned char)pf,(unsigned short)rl, pf>=6?LASZIP_COMPRESSOR_LAYERED_CHUNKED:LASZIP_COMPRESSOR_CHUNKED)){fprintf(stderr,"setup: %s\n",lz.get_error());return 2;}
    lz.set_chunk_size(cs);
    FILE* fp=fopen(argv[6],"wb+"); ByteStreamOutFileLE* os=new ByteStreamOutFileLE(fp);
    LASwritePoint w; if(!w.setup(lz.num_items,lz.items,&lz)){fprintf(stderr,"wsetup\n");return 3;} if(!w.init(os)){fprintf(stderr,"winit\n");return 3;}
    std::vector<const unsigned char*> ptrs(lz.num_items); size_t n=raw.size()/rl;
    std::vector<unsigned> sizes; if(argc>=8){ char* s=argv[7]; while(*s){ sizes.push_back(strtoul(s,&s,10)); if(*s==',') s++; } }
    size_t si=0, inchunk=0;
    unsigned char p14[48]; bool is14 = lz.items[0].type==LASitem::POINT14;
    for(size_t i=0;i<n;i++){ size_t o=0; for(unsigned k=0;k<lz.num_items;k++){ptrs[k]=&raw[i*rl+o];o+=lz.items[k].size;}
      if(is14){ raw_to_p14(&raw[i*rl],p14); ptrs[0]=p14; }
      if(!w.write(ptrs.data())){fprintf(stderr,"write\n");return 4;}
      if(!sizes.empty() && ++inchunk==sizes[si]){ w.chunk(); inchunk=0; si++; } }
    w.done(); fclose(fp);
    printf("items:"); for(unsigned k=0;k<lz.num_items;k++) printf(" %d/%d/%d",lz.items[k].type,lz.items[k].size,lz.items[k].version); printf(" chunk %u\n", lz.chunk_size); return 0;
  }
  fprintf(stderr,"usage\n"); return 1;
}
